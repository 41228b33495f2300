"""The window's reusable boxes and views: banner, viewers, compare, deliver and library boxes, number fields."""
