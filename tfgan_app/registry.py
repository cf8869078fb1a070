"""Name -> variant class registry. Variant modules register themselves on import."""

from __future__ import annotations

from tfgan_app.errors import UsageError

_VARIANTS: dict[str, type] = {}


def register_variant(name: str):
    """Class decorator: make a `GANModel` subclass available as `--variant name`."""

    def wrap(cls):
        if name in _VARIANTS:
            raise ValueError(f"variant {name!r} is registered twice")
        cls.variant_name = name
        _VARIANTS[name] = cls
        return cls

    return wrap


def _load_builtin():
    import tfgan_app.variants  # noqa: F401  (registers every built-in variant)


def variant_names() -> list[str]:
    _load_builtin()
    return sorted(_VARIANTS)


def get_variant(name: str) -> type:
    """Return the class registered as `name`, or raise UsageError listing valid names."""
    _load_builtin()
    try:
        return _VARIANTS[name]
    except KeyError:
        raise UsageError(f"unknown variant '{name}'; valid variants: "
                         f"{', '.join(sorted(_VARIANTS))}") from None


def summaries() -> dict[str, str]:
    """Variant name -> first line of its docstring, for --help."""
    _load_builtin()
    return {n: (c.__doc__ or "").strip().splitlines()[0] for n, c in sorted(_VARIANTS.items())}
