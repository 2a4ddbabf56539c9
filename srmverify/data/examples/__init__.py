"""Small example networks and VNN-LIB properties used in the README and the tests."""
