"""tfgan_app: train GAN variants with Keras 3 / TensorFlow and ship their generators."""

import os

# Python runs this before any tfgan_app module, so TensorFlow, whichever module imports it
# first, starts without its C++ start-up chatter (unless the user set the level).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
