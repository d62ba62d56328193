"""The Matrix edge: the only code that imports nio. Events become `Message` values here and
`Reply` values become events; nothing else in Chavion sees a nio type."""
