"""Models of the physical world shared by the simulator and the simulated devices: cars, day traces,
the modelled day and the simulated house wiring."""
