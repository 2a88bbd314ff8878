# Short name for configs/cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py:
#   tools/dist_train.sh configs/cavsync_as2m.py 8
_base_ = ['./cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py']
