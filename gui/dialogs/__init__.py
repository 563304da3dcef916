"""Dialogs: new project (skeleton), export COCO, settings, keyboard shortcuts."""
