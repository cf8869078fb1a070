"""Name -> variant class registry.

Variant modules register themselves with `@register_variant(name)` when they are imported;
importing `tfgan_app.variants` imports every built-in one (`tfgan_app.config` does, so any
code that resolves a config sees them all). This module imports no variant itself, so the
dependency runs one way: variants -> registry.
"""

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


def variant_names(family: str | None = None) -> list[str]:
    """Registered names, sorted; `family`: only those whose class has that `family`
    ("noise": generators from latents; "image": image-to-image)."""
    return sorted(n for n, c in _VARIANTS.items() if family is None or c.family == family)


def get_variant(name: str) -> type:
    """Return the class registered as `name`, or raise UsageError listing valid names."""
    try:
        return _VARIANTS[name]
    except KeyError:
        known = ", ".join(sorted(_VARIANTS)) or "none registered (import tfgan_app.variants)"
        raise UsageError(f"unknown variant '{name}'; valid variants: {known}") from None


def summaries(family: str | None = None) -> dict[str, str]:
    """Variant name -> first line of its docstring, for --help (`family` as in
    `variant_names`)."""
    return {n: (_VARIANTS[n].__doc__ or "").strip().splitlines()[0]
            for n in variant_names(family)}
