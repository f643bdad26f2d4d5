from m2c.cli import main

raise SystemExit(main())
