"""tfgan_app: train GAN variants with Keras 3 / TensorFlow and ship their generators."""

from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec(Path("tfgan_app/__init__.py").read_text(), version)

setup(
    name="tfgan_app",
    version=version["__version__"],
    description="Train GAN variants with Keras 3 / TensorFlow and export their generators",
    long_description=Path("README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["tfgan_app", "tfgan_app.*"]),
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10,<4",
        # TF >= 2.20 no longer installs TensorBoard; the run's logs/ are TensorBoard events.
        "tensorboard>=2.20,<3",
        "tensorflow-datasets>=4.9,<5",
        # tensorflow-datasets 4.9.10 imports it without declaring it (see docs/DESIGN.md).
        "importlib_resources>=5",
        "tensorflow-gan==2.1.0",
        # tensorflow-gan imports tensorflow_hub, which imports pkg_resources: removed from
        # setuptools 81; on Python 3.12 tensorflow-gan also needs setuptools for distutils.
        "setuptools<81",
        "scikit-learn>=1.3,<2",  # the bundled handwritten digits (offline default dataset)
        "scipy>=1.10",  # InfoGAN code/class matching (linear_sum_assignment); sklearn needs it
        "pillow>=10",
        "pyyaml>=6,<7",
        "matplotlib>=3.7,<4",  # scatter plots of 2-D samples
        # tf.lite.Interpreter is deprecated since TF 2.20: exported .tflite files are
        # verified with the LiteRT interpreter.
        "ai-edge-litert>=2,<3",
        "numpy>=1.26",
    ],
    extras_require={"test": ["pytest>=8,<10",
                             # two test processes (README's command): most of a test's
                             # time is single-threaded tracing, so one process leaves a
                             # core idle
                             "pytest-xdist>=3.6,<4",
                             # the linter .ci/run runs (ruff.toml); pinned: new rules land
                             # in minor releases
                             "ruff>=0.17,<0.18"]},
    entry_points={"console_scripts": ["tfgan-train=tfgan_app.train:console_main",
                                     "tfgan-export=tfgan_app.export.__main__:console_main",
                                     "tfgan-evaluate=tfgan_app.evaluate:console_main",
                                     "tfgan-benchmark=tfgan_app.benchmark:console_main",
                                     "tfgan-sample=tfgan_app.sample:console_main",
                                     "tfgan-serving-request=tfgan_app.serving_request:console_main",
                                     "tfgan-plot-history=tfgan_app.plot_history:console_main",
                                     "tfgan-convert=tfgan_app.convert:console_main",
                                     "tfgan-complete=tfgan_app.complete:console_main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
