"""What drivers are built with: the device context (clock, transports) and the open driver registry."""
