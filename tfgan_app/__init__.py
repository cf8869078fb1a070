"""tfgan_app: train GAN variants with Keras 3 / TensorFlow and ship their generators."""

__version__ = "0.1.0"
