from . import (backbones, classifiers, data_preprocessors, heads,  # noqa: F401
               layers, localizers, losses, necks, pretrainers)
