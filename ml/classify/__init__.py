"""Image classifiers trained from labelled folders: configs, data, models, training, evaluation."""
