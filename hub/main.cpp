#include "hub/cli.h"

int main(int argc, char** argv) { return vigil::hub::RunCli(argc, argv); }
