"""facekit: starter kit and autograder for the HW2P2 face classification/verification homework."""

__version__ = "0.1.0"
