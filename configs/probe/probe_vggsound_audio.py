# Audio-only probing (Table 10): the head sees g_a_t (768-d) per frame.
_base_ = './probe_vggsound.py'
model = dict(modality='audio', head=dict(in_channels=768))
