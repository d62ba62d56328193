import sys

from bots.app.cli import main

sys.exit(main())
