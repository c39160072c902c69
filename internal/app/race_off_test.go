//go:build !race

package app_test

// raceSlack is what the race detector adds to an allocation budget (see
// hotPathBudgets); without it, nothing.
const raceSlack = 0
