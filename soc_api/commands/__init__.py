"""One module per ``soc`` sub-command."""
