"""What runs on the device: first-boot disk set-up, enrolment, the node launcher, banner, health, updates."""
