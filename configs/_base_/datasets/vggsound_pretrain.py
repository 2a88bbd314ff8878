# VGGSound pretraining with the AudioSet recipe (paper Table 9; the paper
# pretrains on AudioSet-2M), CAV-MAE datafile layout:
# {"data": [{"video_id", "wav", "video_path", "labels"}]}, frames at
# {video_path}/frame_{i}/{video_id}.jpg (T = 16 extracted frames), 16 kHz wav.
# Everything but the files is ./audioset_pretrain.py (pipelines, sampling,
# batch 64 per GPU x 8 GPUs = 512).
_base_ = ['./audioset_pretrain.py']
data_root = 'data/vggsound'
label_file = 'class_labels_indices_vgg.csv'  # index,mid,display_name (309)
train_ann_file = 'vgg_train_cleaned.json'
val_ann_file = 'vgg_test_cleaned.json'

train_dataloader = dict(dataset=dict(
    data_root=data_root, ann_file=train_ann_file, label_file=label_file))
val_dataloader = dict(dataset=dict(
    data_root=data_root, ann_file=val_ann_file, label_file=label_file))
test_dataloader = val_dataloader
