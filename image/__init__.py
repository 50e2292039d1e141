"""Builds the flashable edge image and its first-boot enrolment."""
