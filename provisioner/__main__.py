from provisioner.cli.app import main

if __name__ == "__main__":  # a spawned worker imports this module as __mp_main__
    main()
