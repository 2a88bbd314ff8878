# Video-only probing (Table 10): the head sees g_v_t (768-d) per frame.
_base_ = './vit-base-p16_temporal-probe_1xb48-15e_as20k.py'
model = dict(modality='visual', neck=dict(in_channels=768),
             head=dict(in_channels=768))
