"""Migration scripts; a package only so wheels ship them."""
