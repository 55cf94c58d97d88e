"""One file per schema revision, oldest first; never edit one a shop may have run."""
