# Probing the register tokens (Table 12): the mean of the 8 register tokens
# of each modality replaces the global token.
_base_ = './probe_as20k.py'
model = dict(token='register')
