package web

// HumanMessage is humanMessage, for tests that check what a page says.
var HumanMessage = humanMessage
