"""Command-line front end of srmverify (installed as the import package ``srmverify_cli``)."""
