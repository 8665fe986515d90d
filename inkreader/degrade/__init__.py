"""Image degradation that makes clean lines look written and photographed: augmentation of line
images (geometry, ink, paper, camera) and paper for rendered ink."""
