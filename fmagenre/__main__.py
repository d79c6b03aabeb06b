import sys

from fmagenre.cli import main

sys.exit(main())
