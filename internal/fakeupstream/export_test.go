package fakeupstream

// AnswerSDP lets the black-box tests check the SDP answerer directly.
var AnswerSDP = answerSDP
