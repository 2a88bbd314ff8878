# Probing the register tokens (Table 12): the mean of the 8 register tokens
# of each modality replaces the global token.
_base_ = './vit-base-p16_temporal-probe_1xb48-15e_as20k.py'
model = dict(token='register')
