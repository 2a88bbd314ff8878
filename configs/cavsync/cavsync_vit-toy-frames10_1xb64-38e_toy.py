# Toy mirror of paper Table 5's frames-per-clip ablation: T = 10 frames per
# clip (the default 16); the training frame is drawn from the 10. The dataset
# refuses a T the frames were not extracted with, so this config reads clips
# made with 10 frames, and is evaluated on their held-out clips:
#   python tools/data/make_toy_dataset.py --out data/toy_frames10 --num-frames 10
#   python tools/analysis_tools/ablate.py --preset frames --seeds 0
_base_ = ['./cavsync_vit-toy_1xb64-38e_toy.py']
data_root = 'data/toy_frames10'
train_dataloader = dict(dataset=dict(data_root=data_root, num_frames=10))
val_dataloader = dict(dataset=dict(data_root=data_root, num_frames=10))
test_dataloader = val_dataloader
