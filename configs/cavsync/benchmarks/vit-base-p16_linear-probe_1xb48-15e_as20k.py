# A plain linear probe: mean of the T tokens -> LayerNorm -> linear
# (instead of the paper's temporal transformer head).
_base_ = './vit-base-p16_temporal-probe_1xb48-15e_as20k.py'
model = dict(head=dict(_delete_=True, type='LinearProbeHead',
                       num_classes=527, in_channels=1536, loss_type='bce'))
