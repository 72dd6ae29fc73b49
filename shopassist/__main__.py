from shopassist.cli import main

main()
