"""The networks a config builds (``networks``, ``attention``) and the pix2pix objective
(``losses``): plain ``nn.Module``s and functions, no training state.
"""
