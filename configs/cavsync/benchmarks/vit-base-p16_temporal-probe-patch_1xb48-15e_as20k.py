# Probing the patch tokens (Table 12): the mean of the patch tokens of each
# modality (joint block passes) replaces the global token.
_base_ = './vit-base-p16_temporal-probe_1xb48-15e_as20k.py'
model = dict(token='patch')
