"""Style transfer: the fast pretrained networks, AdaIN, CycleGAN styles, optimisation (nst), strength and the judge."""
