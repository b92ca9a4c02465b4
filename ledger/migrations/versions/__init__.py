"""One file per schema revision, ``NNNN_<slug>.py``; revision ids are the four-digit numbers."""
