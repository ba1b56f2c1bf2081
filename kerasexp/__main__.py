import sys

from kerasexp.cli import main

sys.exit(main())
