package ops

// SetQLinearFast switches the QLinearConv fast paths for kernels compiled afterwards (tests only).
func SetQLinearFast(on bool) { qlFastOff = !on }
