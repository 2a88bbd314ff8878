# A plain linear probe: mean of the T tokens -> LayerNorm -> linear
# (instead of the paper's temporal transformer head).
_base_ = './vit-base-p16_temporal-probe_1xb48-15e_as20k.py'
model = dict(neck=dict(_delete_=True, type='TemporalMeanNeck',
                       in_channels=_base_.token_width))
