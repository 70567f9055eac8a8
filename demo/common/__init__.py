"""Code shared by the two local demo providers: command line, settings, provisioning and the login page."""
