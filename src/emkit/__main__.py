"""``python -m emkit`` (or the ``emkit`` command) runs the demo analysis."""
from .demo import main

if __name__ == "__main__":
    main()
