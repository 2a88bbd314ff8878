# cavsync_as2m with mixed precision (bfloat16 autocast; fp16: dtype='float16').
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
