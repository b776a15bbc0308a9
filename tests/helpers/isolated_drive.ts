// Every test file (and every kernel, CLI or notebook it starts, which inherit
// the environment) keeps its runs in ./drive under its own working folder,
// never in the user's real Drive root (~/tscolab-drive by default) that other
// tests, or the user's own notebooks, share. Tests of the default itself
// unset it.
process.env.TSCOLAB_DRIVE = "drive";
