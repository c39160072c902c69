//go:build race

package app_test

// raceSlack is what the race detector adds to an allocation budget (see
// hotPathBudgets).
const raceSlack = 3
