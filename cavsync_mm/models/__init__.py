from . import (backbones, classifiers, data_preprocessors,  # noqa: F401
               layers, localizers, losses, necks, pretrainers)
