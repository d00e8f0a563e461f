"""`python -m newstagger` runs the same command line as the `newstagger` script."""
from .cli import main

main(prog_name="newstagger")
