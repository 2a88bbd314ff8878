# VGGSound zero-shot retrieval (paper Sec. 3.5.1): the authors' 5-per-class
# subset, 1,545 clips, read as it is: its paths start with the placeholder
# <YOUR_VGGS_PATH>, replaced by data_root (frames at
# {data_root}/frames/frame_{i}/{video_id}.jpg, audio {data_root}/audio/*.wav).
# All T frames and their T aligned segments per clip.
# Everything but the files is ./audioset_retrieval.py.
_base_ = ['./audioset_retrieval.py']
data_root = 'data/vggsound'
ann_file = 'vgg_test_5_per_class_for_retrieval_template.json'
label_file = 'class_labels_indices_vgg.csv'  # index,mid,display_name (309)
path_placeholder = '<YOUR_VGGS_PATH>'

test_dataloader = dict(dataset=dict(
    data_root=data_root, ann_file=ann_file, label_file=label_file,
    path_placeholder=path_placeholder))
# retrieval is evaluated by tools/test.py only: no validation during a run
# (a Runner takes val_dataloader, val_cfg and val_evaluator together or none)
val_dataloader = None
