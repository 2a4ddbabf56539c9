"""``python -m srmverify``: the same command line as ``srmverify``."""
from srmverify_cli.main import main

if __name__ == "__main__":
    main()
